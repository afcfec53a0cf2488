"""The verification station: a person fixes the words hotocr was unsure of, in a browser,
and every output of the document follows.

- ``documents``: the outboxes' documents by name, their versions, saving fixes;
- ``changes``: a person's fixes applied to a document's result;
- ``rewrite``: all outputs written again as one set, journalled, recovered after a crash.
"""
