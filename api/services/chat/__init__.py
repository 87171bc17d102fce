"""Chat to training config.

A message becomes a patch (what it says: a dataset, a model, epochs ...), from Claude
(`llm`) when a key is set or from the rule-based parser (`rules`); the patch is merged
into the conversation's state and checked by `resolve` against the user's readable
datasets (`context`), the catalog and the config schema: the result is a job body ready
for POST /api/v1/training/jobs, or questions. `conversation` ties them to the database.
"""
