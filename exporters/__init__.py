"""Export trained checkpoints for deployment: `export()` writes a model file and its
metadata.json, `build_package()` zips them with a standalone runtime. What a worker can
export is functions/capabilities.py's to say. Importing this package loads no framework."""
