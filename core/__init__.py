"""The small shared base at the bottom of the import graph: errors, the clock, ids, database column types, the
access scope, request shapes and the FastAPI dependencies every domain uses. It imports no domain package."""
