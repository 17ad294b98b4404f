"""A batch of call IDs spread over a taskiq task queue on Redis (see README.md here).

``producer`` enqueues chunks of IDs, ``tasks`` is what each worker process runs (one
client per process, on the key's shared limiter and cache), ``collect`` merges the results
into one JSON Lines file. ``settings`` holds what all three read from the environment.
"""
