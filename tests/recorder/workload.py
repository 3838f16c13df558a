"""The python3 part of the strace ground-truth workload (tests/e2e/record_strace.sh): file I/O
in the current folder, a subprocess, a shell, TCP connects to a local listener and to a closed
port. Usage: workload.py LISTEN_PORT CLOSED_PORT"""
import os
import socket
import subprocess
import sys

port, closed = int(sys.argv[1]), int(sys.argv[2])
os.mkdir("data")
for i in range(5):
    with open(f"data/f{i}.txt", "w") as f:
        f.write("x" * i)
for i in range(5):
    with open(f"data/f{i}.txt") as f:
        f.read()
os.rename("data/f0.txt", "data/g0.txt")
os.unlink("data/g0.txt")
try:
    open("data/missing.txt")
except FileNotFoundError:
    pass
print(sorted(os.listdir("data")))
subprocess.run(["cat", "data/f1.txt"], check=True)
subprocess.run(["sh", "-c", "echo sub > data/sub.txt; mkdir data/d"], check=True)
for i in range(3):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"ping")
    s.close()
try:
    socket.create_connection(("127.0.0.1", closed)).close()
except ConnectionRefusedError:
    pass
