"""An app that prints a burst of lines as fast as it can (sdvisor system tests),
then waits to be stopped.

    python3 burst.py COUNT MARKER

Prints "MARKER 0" … "MARKER COUNT-1", then "MARKER done".
"""
import sys
import time

count, marker = int(sys.argv[1]), sys.argv[2]
sys.stdout.writelines(f"{marker} {i}\n" for i in range(count))
print(f"{marker} done", flush=True)
while True:
    time.sleep(60)
