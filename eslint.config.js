/* ESLint (flat config) for the browser scripts the gateway serves: the residents' widget and the town page's
   script. `make lint` runs it after `npm ci` has installed the pinned eslint (package-lock.json) into node_modules/.
   They are classic scripts in ES5 syntax, so that old Android WebViews and WeChat's browser run them; bot text is
   only ever put in the page as text, never as markup (the restricted properties below). */
"use strict";

const js = require("@eslint/js");

const BROWSER = [
  "window",
  "document",
  "navigator",
  "fetch",
  "URL",
  "Event",
  "AbortController",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "EventSource",
];
const ES2015_LIBRARY = ["Promise", "Uint8Array"]; // used where the browser has them (ES5 syntax, newer library)

const NO_MARKUP = "bot text is put in the page with DOM APIs and text nodes only (widget.js el())";

module.exports = [
  {
    files: ["bot/web/gateway/static/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 5,
      sourceType: "script",
      globals: Object.fromEntries([...BROWSER, ...ES2015_LIBRARY].map((name) => [name, "readonly"])),
    },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { caughtErrors: "none" }], // ES5: catch (e) needs its name
      eqeqeq: ["error", "always"],
      strict: ["error", "function"],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-use-before-define": ["error", { functions: false, variables: false }],
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: NO_MARKUP },
        { property: "outerHTML", message: NO_MARKUP },
        { property: "insertAdjacentHTML", message: NO_MARKUP },
        { object: "document", property: "write", message: NO_MARKUP },
      ],
      "no-restricted-globals": ["error", { name: "eval", message: "no eval in the widget" }],
    },
  },
];
