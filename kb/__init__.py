"""Knowledge base of Zhitang's services, built from the town's yearly work reports and kept by staff."""
