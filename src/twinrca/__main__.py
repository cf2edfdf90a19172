"""``python -m twinrca``: the command line."""

from twinrca.cli import main

if __name__ == "__main__":
    main()
