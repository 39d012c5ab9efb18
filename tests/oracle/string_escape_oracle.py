"""Cases for tests/string_escape_oracle.rs: STRING opcodes (protocol 0, as Python 2 wrote
str) with random bodies of escapes, quotes and raw bytes, each read by CPython's C unpickler
(pickle.loads, encoding='latin1'). One line per case: the pickle in hex, then `ok HEX` (the
value's latin-1 bytes) or `err`. Usage: string_escape_oracle.py SEED COUNT OUT"""
import pickle, random, sys, warnings
warnings.filterwarnings("ignore")
r = random.Random(int(sys.argv[1]))
alpha = [b"\\"]*6 + [b"x", b"0", b"3", b"7", b"8", b"a", b"F", b"'", b'"', b"\r", b"\t", b"\x00", b"\xff", b"u", b"N"] + [bytes([i]) for i in range(256) if i != 10]
out = []
for i in range(int(sys.argv[2])):
    body = b"".join(r.choice(alpha) for _ in range(r.randint(0, 10)))
    q = r.choice([b"'", b'"'])
    p = b"S" + q + body + q + b"\np0\n."
    try:
        v = pickle.loads(p, encoding="latin1")
        res = "ok " + v.encode("latin1").hex()
    except Exception as e:
        res = "err"
    out.append(p.hex() + " " + res)
open(sys.argv[3], "w").write("\n".join(out))
