"""DIET's intent ranking computed with NumPy from the loaded weights, for the DIET config.yml uses.

Why: with `number_of_transformer_layers: 0` and no hidden layers, what DIET computes for the intent of a
message is a handful of small matrix products, but each message went through TensorFlow's eager call of the
whole prediction graph, with its input conversion: a fifth of Rasa's CPU per message (py-spy, 10 residents).

What DIET computes (rasa/utils/tensorflow/rasa_layers.py, rasa/nlu/classifiers/diet_classifier.py
`batch_predict`/`_batch_predict_intents`): the text's sequence- and sentence-level features are made dense
(one `DenseForSparse` layer per level), the sentence vector is appended after the tokens, the feed-forward
layers and the transformer run over every position, and the intent is read from the last position, the
sentence vector's. With no transformer and no hidden layers nothing mixes the positions, so that vector is
the sentence features' dense layer alone: `x @ W + b`, then the text's embedding layer, then the inner
product with every intent's embedding (computed once by Rasa at load, `all_labels_embed`) and a softmax.

`IntentModel.from_diet` accepts only a model for which that holds (checked on its layers, not assumed from
the config): one sparse sentence-level feature, no dense features, no hidden layers, no transformer, no
dimension-unifying layers, softmax confidences (Rasa allows them with inner products only), intent classification without
entity recognition. For anything else it gives None and DIET runs Rasa's own code; so does a message whose
features are not that one sparse row. tests/rasa/test_diet_numpy.py compares it with Rasa's prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import INNER, LABEL, SENTENCE, SOFTMAX


class IntentModel:
    """The weights that decide the intent, as float32 NumPy arrays (TensorFlow computes in float32)."""

    def __init__(
        self,
        kernel: np.ndarray,
        bias: np.ndarray | None,
        embed_kernel: np.ndarray,
        embed_bias: np.ndarray | None,
        labels_embed: np.ndarray,
        featurizers: list[str],
    ) -> None:
        self.kernel, self.bias = kernel, bias
        self.embed_kernel, self.embed_bias = embed_kernel, embed_bias
        self.labels_embed = labels_embed
        self.featurizers = featurizers

    @classmethod
    def from_diet(cls, classifier: Any) -> IntentModel | None:
        """The NumPy model of a loaded DIETClassifier, or None when its model is not of the covered shape."""
        try:
            return cls._from_diet(classifier)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):  # a layout this code does not know
            return None

    @classmethod
    def _from_diet(cls, classifier: Any) -> IntentModel | None:
        from rasa.nlu.classifiers.diet_classifier import DIET
        from rasa.utils.tensorflow.rasa_layers import RasaSequenceLayer

        model = classifier.model
        config = classifier.component_config
        if type(model) is not DIET or not config["intent_classification"] or config["entity_recognition"]:
            return None
        if model.all_labels_embed is None or not model.prepared_for_prediction:
            return None
        signature = model.predict_data_signature.get(TEXT, {}).get(SENTENCE, [])
        if len(signature) != 1 or not signature[0].is_sparse:
            return None  # dense features, several sparse ones, or no sentence level
        sequence_layer = model._tf_layers[f"sequence_layer.{TEXT}"]
        if type(sequence_layer) is not RasaSequenceLayer or sequence_layer._has_transformer:
            return None
        if sequence_layer._tf_layers[RasaSequenceLayer.FFNN]._ffn_layers:
            return None  # hidden layers
        combining = sequence_layer._tf_layers[RasaSequenceLayer.FEATURE_COMBINING]
        if any(name.startswith("unify_dims") for name in combining._tf_layers):
            return None
        sparse_dense = combining._tf_layers[f"sparse_dense.{SENTENCE}"]
        if set(sparse_dense._tf_layers) - {"sparse_dropout", "sparse_to_dense", "dense_dropout"}:
            return None  # dropouts do nothing at prediction; anything else is unknown here
        to_dense = sparse_dense._tf_layers["sparse_to_dense"]
        embed = model._tf_layers[f"embed.{TEXT}"]._dense
        loss = model._tf_layers[f"loss.{LABEL}"]
        if to_dense.activation.__name__ != "linear" or embed.activation.__name__ != "linear":
            return None
        if loss.model_confidence != SOFTMAX or loss.similarity_type != INNER:  # Rasa allows softmax with inner only
            return None
        kernel = to_dense.kernel.numpy()
        if kernel.shape[0] != signature[0].units or kernel.dtype != np.float32:
            return None
        labels_embed = np.asarray(model.all_labels_embed, dtype=np.float32)
        return cls(
            kernel,
            to_dense.bias.numpy() if to_dense.use_bias else None,
            embed.kernel.numpy(),
            embed.bias.numpy() if embed.use_bias else None,
            labels_embed,
            list(config.get("featurizers") or []),
        )

    def sentence_row(self, message: Message) -> scipy.sparse.coo_matrix | None:
        """The message's one sparse sentence-level row as DIET reads it, or None when it is not just that."""
        _, dense = message.get_dense_features(TEXT, self.featurizers)
        if dense is not None:
            return None
        _, sentence = message.get_sparse_features(TEXT, self.featurizers)
        if sentence is None:
            return None
        row = sentence.features
        if not scipy.sparse.issparse(row) or row.shape != (1, self.kernel.shape[0]):
            return None
        return row.tocoo()

    def predict(self, message: Message) -> dict[str, np.ndarray] | None:
        """DIET's `{"i_scores": confidences}` (shape (1, intents)) for the message, or None (Rasa decides)."""
        row = self.sentence_row(message)
        if row is None:
            return None
        # Products and sums, not `@`: for arrays this small NumPy's BLAS wakes its threads, which spin and cost
        # more CPU than the arithmetic (measured: a third more CPU than wall time).
        values = row.data.astype(np.float32)
        x = (values[:, np.newaxis] * self.kernel[row.col]).sum(axis=0, dtype=np.float32)
        if self.bias is not None:
            x = x + self.bias
        embedded = (x[:, np.newaxis] * self.embed_kernel).sum(axis=0, dtype=np.float32)
        if self.embed_bias is not None:
            embedded = embedded + self.embed_bias
        similarities = (self.labels_embed * embedded).sum(axis=1, dtype=np.float32)
        exp = np.exp(similarities - similarities.max())
        return {"i_scores": (exp / exp.sum()).astype(np.float32)[np.newaxis, :]}
