"""``python -m chirp_async``: the ``chirp-async`` command line."""

from chirp_async.cli import main

if __name__ == "__main__":
    main()
