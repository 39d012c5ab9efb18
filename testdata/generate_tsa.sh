#!/usr/bin/env bash
# How testdata/interop/oms/toy-model.cert-ts.sig was made (OpenSSL 3.0, by hand, once): a
# certificate bundle over testdata/interop/oms/toy-model whose signing certificate
# (keys/leaf-short-p256.pem, key keys/p256.key) expired three minutes after signing, and an
# RFC 3161 timestamp over the signature from a test TSA (keys/tsa-p256.pem, under
# keys/ca-p384.pem), as the Go client 1.5 puts timestamps into key and certificate bundles.
# Re-running it makes new files (new times); the tests read the committed ones.
set -euo pipefail
K=testdata/keys
M=testdata/interop/oms/toy-model
W=$(mktemp -d)
cat > "$W/ca.cnf" <<'CNF'
[ ca ]
default_ca = testca
[ testca ]
dir = .
database = ./index.txt
new_certs_dir = .
serial = ./serial
default_md = sha384
policy = anything
copy_extensions = none
unique_subject = no
[ anything ]
commonName = supplied
[ shortleaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
[ tsaext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
root=$PWD
cd "$W"
touch index.txt; echo 1000 > serial; echo 01 > tsaserial
openssl req -new -key "$root/$K/p256.key" -subj "/CN=modelgate test signer (short-lived)" -out leaf.csr
openssl ca -batch -config ca.cnf -cert "$root/$K/ca-p384.pem" -keyfile "$root/$K/ca-p384.key" -in leaf.csr \
    -startdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '+3 minutes' +%Y%m%d%H%M%SZ)" \
    -extensions shortleaf -out "$root/$K/leaf-short-p256.pem"
openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out tsa.key
openssl req -new -key tsa.key -subj "/CN=modelgate test TSA" -out tsa.csr
openssl ca -batch -config ca.cnf -cert "$root/$K/ca-p384.pem" -keyfile "$root/$K/ca-p384.key" -in tsa.csr \
    -days 36500 -extensions tsaext -out "$root/$K/tsa-p256.pem"
cd "$root"
cargo run -q -- sign certificate "$M" --private-key "$K/p256.key" --signing-certificate "$K/leaf-short-p256.pem" --signature "$W/model.sig"
python3 -c "import json,base64,sys; b=json.load(open(sys.argv[1])); open(sys.argv[2],'wb').write(base64.b64decode(b['dsseEnvelope']['signatures'][0]['sig']))" "$W/model.sig" "$W/sig.bin"
(cd "$W" && openssl ts -query -data sig.bin -sha256 -cert -no_nonce -out req.tsq \
    && openssl ts -reply -queryfile req.tsq -signer "$root/$K/tsa-p256.pem" -inkey tsa.key -chain "$root/$K/ca-p384.pem" -config ca.cnf -section tsa1 -out resp.tsr \
    && openssl ts -reply -in resp.tsr -token_out -out token.der)
python3 - "$W/model.sig" "$W/token.der" testdata/interop/oms/toy-model.cert-ts.sig <<'PY'
import base64, json, sys
b = json.load(open(sys.argv[1]))
tok = open(sys.argv[2], "rb").read()
b["verificationMaterial"]["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": base64.b64encode(tok).decode()}]}
json.dump(b, open(sys.argv[3], "w"))
PY
rm -rf "$W"
