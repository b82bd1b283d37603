"""The sub-commands of ``python -m facedemo`` (``facedemo/__main__.py`` lists them):
``options`` (what they share), ``pairs`` (verify, identify), ``studies`` (thresholds, embed);
``facedemo.explain.cli`` and ``facedemo.siamese.cli`` add their own."""
