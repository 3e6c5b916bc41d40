"""The integration tests' fake apps (tests/common/harness.c) and their directory: the
test gives each run one ($SVTEST_DIR) and reads what the app writes there."""
import os

d = os.environ["SVTEST_DIR"]


def write(name, text):
    """NAME in the test's directory, renamed into place: the test never reads half."""
    tmp = os.path.join(d, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(d, name))
