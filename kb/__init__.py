"""Knowledge base of Zhitang's services, built from the 2022 work report and kept by staff."""
