"""Export trained checkpoints for deployment: `export()` writes a model file and its
metadata.json, `build_package()` zips them with a standalone runtime, `capabilities()`
says what this installation can export. Importing this package loads no framework."""
