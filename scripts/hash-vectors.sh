#!/usr/bin/env bash
# Regenerates testdata/hash-vectors.json: password hashes made by tools
# nobody here wrote, one or more per format CheckPasswordHash accepts, that
# hashing_formats_test.go logs in with (it needs none of these tools).
#
#   apt-get install -y apache2-utils argon2 python3-bcrypt python3-passlib python3-django
#   scripts/hash-vectors.sh
#
# The tools: htpasswd -B (Apache), the argon2 command (the reference C
# implementation), Python's hashlib (scrypt and pbkdf2_hmac, formatted as
# passlib and Django write them), and, as a check of those forms, passlib,
# Django's make_password and pyca/bcrypt themselves. Firebase's scrypt has
# no tool outside Firebase: its vector is the one published in the
# README of github.com/firebase/scrypt. Salts are random, so every run
# writes other hashes of the same passwords. Costs are kept low (the
# tests compute each several times); the limits are tested apart.
set -euo pipefail
cd "$(dirname "$0")/.."

pw='correct horse battery staple'
htpasswd_bcrypt=$(htpasswd -nbB -C 8 user "$pw" | cut -d: -f2-)
# Past bcrypt's 72 bytes: every bcrypt reads the first 72 only.
long_pw="$pw, $pw, $pw, and one more time"
htpasswd_long=$(htpasswd -nbB -C 6 user "$long_pw" | cut -d: -f2-)
argon2id=$(printf %s "$pw" | argon2 "$(head -c 12 /dev/urandom | base64)" -id -t 2 -m 12 -p 1 -e)
# argon2i at the library's own argon2id costs: re-hashed all the same.
argon2i=$(printf %s "$pw" | argon2 "$(head -c 12 /dev/urandom | base64)" -i -t 2 -k 19456 -p 1 -e)
# A password typed in decomposed form (as some keyboards send it): a
# foreign hash is of the bytes as typed, not of their NFC form.
nfd=$(/usr/bin/python3 -c 'import unicodedata; print(unicodedata.normalize("NFD", "Passwörter sind länger"), end="")')
argon2i_nfd=$(printf %s "$nfd" | argon2 "$(head -c 12 /dev/urandom | base64)" -i -t 2 -m 12 -p 1 -e)

PW="$pw" HTPASSWD_BCRYPT="$htpasswd_bcrypt" LONG_PW="$long_pw" HTPASSWD_LONG="$htpasswd_long" ARGON2ID="$argon2id" ARGON2I="$argon2i" NFD="$nfd" ARGON2I_NFD="$argon2i_nfd" \
	/usr/bin/python3 - >testdata/hash-vectors.json <<'EOF'
import base64, hashlib, json, os, secrets, unicodedata

import bcrypt
import django
from django.conf import settings
from passlib.hash import pbkdf2_sha256, scrypt

pw = os.environ["PW"]
nfd = os.environ["NFD"]
assert nfd != unicodedata.normalize("NFC", nfd)

def b64s(b):  # passlib's scrypt: standard base64, unpadded
    return base64.b64encode(b).decode().rstrip("=")

def ab64(b):  # passlib's adapted base64: "." for "+", unpadded
    return b64s(b).replace("+", ".")

def hashlib_scrypt(p, ln=14, r=8, par=1):
    salt = os.urandom(16)
    key = hashlib.scrypt(p.encode(), salt=salt, n=1 << ln, r=r, p=par, dklen=32, maxmem=1 << 26)
    return "$scrypt$ln=%d,r=%d,p=%d$%s$%s" % (ln, r, par, b64s(salt), b64s(key))

def hashlib_django(p, iterations=20000):
    salt = secrets.token_urlsafe(16).replace("-", "a").replace("_", "b")[:22]
    key = hashlib.pbkdf2_hmac("sha256", p.encode(), salt.encode(), iterations)
    return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(key).decode())

def hashlib_passlib_pbkdf2(p, iterations=29000):
    salt = b"\xf8" + os.urandom(15)  # so that its ab64 starts with ".", read as "+"
    key = hashlib.pbkdf2_hmac("sha256", p.encode(), salt, iterations)
    return "$pbkdf2-sha256$%d$%s$%s" % (iterations, ab64(salt), ab64(key))

settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
django.setup()
from django.contrib.auth.hashers import make_password

def v(fmt, tool, hash, password=pw):
    return {"format": fmt, "tool": tool, "password": password, "hash": hash}

vectors = [
    v("bcrypt", "htpasswd -nbB -C 8", os.environ["HTPASSWD_BCRYPT"]),
    v("bcrypt", "htpasswd -nbB -C 6, a password of %d bytes" % len(os.environ["LONG_PW"]),
      os.environ["HTPASSWD_LONG"], os.environ["LONG_PW"]),
    v("bcrypt", "pyca/bcrypt hashpw, gensalt(8)", bcrypt.hashpw(pw.encode(), bcrypt.gensalt(8)).decode()),
    v("bcrypt", "pyca/bcrypt hashpw, gensalt(8, prefix=b'2a')",
      bcrypt.hashpw(pw.encode(), bcrypt.gensalt(8, prefix=b"2a")).decode()),
    v("argon2id", "argon2 SALT -id -t 2 -m 12 -p 1 -e", os.environ["ARGON2ID"]),
    v("argon2i", "argon2 SALT -i -t 2 -k 19456 -p 1 -e", os.environ["ARGON2I"]),
    v("argon2i", "argon2 SALT -i -t 2 -m 12 -p 1 -e, NFD password", os.environ["ARGON2I_NFD"], nfd),
    v("scrypt", "hashlib.scrypt n=2^14 r=8 p=1, passlib's form", hashlib_scrypt(pw)),
    v("scrypt", "hashlib.scrypt n=2^10 r=8 p=4, passlib's form", hashlib_scrypt(pw, ln=10, par=4)),
    v("scrypt", "passlib.hash.scrypt rounds=14", scrypt.using(rounds=14).hash(pw)),
    v("pbkdf2-sha256 (Django)", "hashlib.pbkdf2_hmac, Django's form", hashlib_django(pw)),
    v("pbkdf2-sha256 (Django)", "hashlib.pbkdf2_hmac, Django's form, NFD password", hashlib_django(nfd), nfd),
    v("pbkdf2-sha256 (Django)", "Django %s make_password" % django.get_version(), make_password(pw)),
    v("pbkdf2-sha256 (passlib)", "hashlib.pbkdf2_hmac, passlib's form", hashlib_passlib_pbkdf2(pw)),
    v("pbkdf2-sha256 (passlib)", "passlib.hash.pbkdf2_sha256", pbkdf2_sha256.hash(pw)),
]
# Each form as passlib and Django read it: they verify what hashlib made.
for x in vectors:
    if x["format"] == "scrypt":
        assert scrypt.verify(x["password"], x["hash"]), x
    if x["format"] == "pbkdf2-sha256 (passlib)":
        assert pbkdf2_sha256.verify(x["password"], x["hash"]), x
    if x["format"] == "pbkdf2-sha256 (Django)":
        from django.contrib.auth.hashers import check_password
        assert check_password(x["password"], x["hash"]), x

firebase = {
    "format": "firebase-scrypt",
    "tool": "the published vector of github.com/firebase/scrypt's README",
    "password": "user1password",
    "hash": "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
    "firebase": {
        "base64_signer_key": "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
        "base64_salt_separator": "Bw==",
        "rounds": 8,
        "mem_cost": 14,
        "salt": "42xEC+ixf3L2lw==",
    },
}
print(json.dumps(vectors + [firebase], indent=1, ensure_ascii=False))
EOF
echo "wrote testdata/hash-vectors.json" >&2
