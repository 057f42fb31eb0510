// Entry signatures are RFC 8032 Ed25519, byte for byte: node:crypto's signer is held to the RFC's
// own test vectors, then the entry signature to what it must cover.

import { test } from "node:test";
import assert from "node:assert/strict";
import { sign, verify, generateKeyPairSync } from "node:crypto";
import { privateKeyFromSeed, publicKeyFromRaw, rawPublicKey } from "./keys.js";
import { signEntry, verifyEntry } from "./signature.js";
import type { Entry } from "../log/entry.js";

// RFC 8032 §7.1, TEST 1 to TEST 3: SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE (hex, as published).
const RFC8032 = [
  {
    name: "TEST 1",
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3",
    secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    public: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];
const hex = (s: string): Buffer => Buffer.from(s, "hex");

for (const v of RFC8032) {
  test(`RFC 8032 §7.1 ${v.name}: the secret key gives the public key, signs the message to the signature, and it verifies`, () => {
    const priv = privateKeyFromSeed(hex(v.secret));
    const pub = publicKeyFromRaw(hex(v.public));
    assert.equal(Buffer.from(rawPublicKey(pub)).toString("hex"), v.public);
    assert.equal(sign(null, hex(v.message), priv).toString("hex"), v.signature);
    assert.equal(verify(null, hex(v.message), pub, hex(v.signature)), true);
    const flipped = hex(v.signature);
    flipped[0]! ^= 1;
    assert.equal(verify(null, hex(v.message), pub, flipped), false);
  });
}

const entry: Entry = {
  author: "Pi-1", seq: 3, sha256: "ab".repeat(32), kind: "teach", base: "gpt2-tiny.0123456789abcdef",
  lesson: { question: "Capital of France?", answer: "Paris" }, at: 1_764_000_000_000,
};

test("an entry's signature verifies with its author's key and no other", () => {
  const a = generateKeyPairSync("ed25519");
  const b = generateKeyPairSync("ed25519");
  const sig = signEntry(entry, a.privateKey);
  assert.equal(Buffer.from(sig, "base64").length, 64);
  assert.equal(verifyEntry(entry, sig, a.publicKey), true);
  assert.equal(verifyEntry(entry, sig, b.publicKey), false);
});

test("the signature covers author, seq, sha256, kind, base and lesson: changing any one breaks it", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const sig = signEntry(entry, privateKey);
  const changed: Entry[] = [
    { ...entry, author: "Pi-2" }, { ...entry, seq: 4 }, { ...entry, sha256: "cd".repeat(32) }, { ...entry, kind: "round", lesson: undefined, round: { job: "j1", r: 1, members: ["pi-1"] } },
    { ...entry, base: "gpt2-tiny.fedcba9876543210" }, { ...entry, lesson: { question: "Capital of France?", answer: "Activity" } },
  ];
  for (const e of changed) assert.equal(verifyEntry(e, sig, publicKey), false, JSON.stringify(e));
});

test("a malformed signature is simply not valid: wrong length, not base64, empty", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const sig = signEntry(entry, privateKey);
  for (const bad of ["", "!!!!", sig.slice(0, 40), Buffer.alloc(65).toString("base64"), Buffer.alloc(64).toString("base64")]) {
    assert.equal(verifyEntry(entry, bad, publicKey), false, bad);
  }
});
