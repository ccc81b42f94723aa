#!/usr/bin/env python3
"""SigV4 vectors for storaged/s3_sign.c, computed by botocore's S3SigV4Auth.

  s3_sign_vectors.py              prints the vectors (JSON) to stdout
  s3_sign_vectors.py --check F    exits 1 when F differs from what botocore says

Each case is a request the way botocore's S3 client builds it: the key
percent-encoded with botocore.utils.percent_encode(safe='/~') in the URL path,
the query as request.params, the body signed (X-Amz-Content-SHA256 = hex
SHA-256), the datetime fixed.  The checked-in file is
tests/unit/fixtures/s3_sign_vectors.json; test_s3_sign.c signs the same inputs
with our signer and compares every step byte for byte."""
import datetime
import hashlib
import json
import sys
import types
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DATE = datetime.datetime(2026, 11, 23, 18, 20, 0, tzinfo=datetime.timezone.utc)
XML = ('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'
       '<ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part><Part>'
       '<PartNumber>2</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag>'
       '</Part></CompleteMultipartUpload>')

CASES = [
    dict(name="get_simple", method="GET", host="bkt.s3.us-east-1.amazonaws.com",
         path="/00000001/segments/00000000000000000042.seg"),
    dict(name="key_spaces", method="GET", host="127.0.0.1:9000",
         path="/bkt/dir/a b  c.txt"),
    dict(name="key_unicode", method="PUT", host="127.0.0.1:9000",
         path="/bkt/dir/\u65e5\u672c\u8a9e/\u00e9t\u00e9.snap", body="x"),
    dict(name="key_reserved", method="GET", host="127.0.0.1:9000",
         path="/bkt/a+b=c~d%20e%zz&f;g,h:i@j$k!l'm(n)o*p"),
    dict(name="key_double_slash", method="DELETE", host="127.0.0.1:9000",
         path="/bkt/a//b///c"),
    dict(name="key_trailing_slash", method="PUT", host="127.0.0.1:9000",
         path="/bkt/dir/sub/", body=""),
    dict(name="list_v2_prefix_token", method="GET", host="bkt.s3.us-east-1.amazonaws.com",
         path="/", query=[["list-type", "2"], ["prefix", "a/b"],
                          ["continuation-token", "1/abc+def== x~y"]]),
    dict(name="list_v2_path_style", method="GET", host="127.0.0.1:9000", path="/bkt",
         query=[["prefix", ""], ["list-type", "2"], ["max-keys", "1000"]]),
    dict(name="multipart_initiate", method="POST", host="127.0.0.1:9000",
         path="/bkt/p/00000001/snapshots/00000000000000000001.snap",
         query=[["uploads", ""]]),
    dict(name="multipart_part", method="PUT", host="127.0.0.1:9000",
         path="/bkt/p/00000001/snapshots/00000000000000000001.snap",
         query=[["uploadId", "VXBsb2FkIElE/Zm9v+YmFy=="], ["partNumber", "3"]],
         body="part three data"),
    dict(name="multipart_complete", method="POST", host="127.0.0.1:9000",
         path="/bkt/p/00000001/snapshots/00000000000000000001.snap",
         query=[["uploadId", "VXBsb2FkIElE/Zm9v+YmFy=="]],
         headers=[["content-type", "application/xml"], ["if-none-match", "*"]], body=XML),
    dict(name="multipart_abort", method="DELETE", host="127.0.0.1:9000",
         path="/bkt/k", query=[["uploadId", "2~abc"]]),
    dict(name="put_if_none_match", method="PUT", host="bkt.s3.eu-west-1.amazonaws.com",
         path="/lease", region="eu-west-1",
         headers=[["If-None-Match", "*"], ["Content-Type", "application/octet-stream"]],
         body="{\"owner\":\"storaged-0\",\"expires\":1795000000}"),
    dict(name="put_body_binaryish", method="PUT", host="127.0.0.1:9000", path="/bkt/b",
         headers=[["content-type", "application/octet-stream"]], body="\u0001\u0002 tab\there\n"),
    dict(name="session_token", method="GET", host="bkt.s3.us-east-1.amazonaws.com",
         path="/x", token="IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="),
    dict(name="header_spaces", method="PUT", host="127.0.0.1:9000", path="/bkt/m",
         headers=[["X-Amz-Meta-Note", "  a   b  c "]], body="m"),
    dict(name="query_unicode_and_empty", method="GET", host="127.0.0.1:9000", path="/bkt",
         query=[["list-type", "2"], ["prefix", "\u00e9 t/+"], ["start-after", ""],
                ["a", "2"], ["a", "1"]]),
    dict(name="other_date", method="GET", host="examplebucket.s3.amazonaws.com",
         path="/test.txt", date=datetime.datetime(2013, 5, 24, 0, 0, 0,
                                                  tzinfo=datetime.timezone.utc),
         headers=[["Range", "bytes=0-9"]]),
]


def fixed_time(when):
    """add_auth's clock: get_current_datetime() in botocore >= 1.31 (pyenv's
    1.43), datetime.datetime.utcnow() before (Debian 12's 1.29)."""
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch.object(botocore.auth, "get_current_datetime", return_value=when)

    class FixedDateTime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when.replace(tzinfo=None)

    shim = types.SimpleNamespace(datetime=FixedDateTime, timedelta=datetime.timedelta,
                                 timezone=datetime.timezone)
    return mock.patch.object(botocore.auth, "datetime", shim)


def sign(case):
    region = case.get("region", "us-east-1")
    body = case.get("body", "").encode("utf-8")
    url = "http://" + case["host"] + percent_encode(case["path"], safe="/~")
    req = AWSRequest(method=case["method"], url=url, data=body,
                     headers=dict(case.get("headers", [])),
                     params=[tuple(q) for q in case.get("query", [])])
    creds = Credentials(AK, SK, case.get("token"))
    auth = botocore.auth.S3SigV4Auth(creds, "s3", region)
    when = case.get("date", DATE)
    # The steps as add_auth runs them (before it adds Authorization) ...
    req.context["timestamp"] = when.strftime(botocore.auth.SIGV4_TIMESTAMP)
    auth._modify_request_before_signing(req)
    cr = auth.canonical_request(req)
    sts = auth.string_to_sign(req, cr)
    sig = auth.signature(sts, req)
    # ... then add_auth itself, at the same fixed time, for the header.
    with fixed_time(when):
        auth.add_auth(req)
    if not req.headers["Authorization"].endswith("Signature=" + sig):
        raise SystemExit(f"{case['name']}: add_auth and the steps disagree")
    out = {
        "name": case["name"],
        "method": case["method"],
        "host": case["host"],
        "path": case["path"],
        "query": case.get("query", []),
        "headers": case.get("headers", []),
        "body": case.get("body", ""),
        "region": region,
        "access_key": AK,
        "secret_key": SK,
        "session_token": case.get("token", ""),
        "amz_date": req.context["timestamp"],
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "canonical_request": cr,
        "string_to_sign": sts,
        "signature": sig,
        "authorization": req.headers["Authorization"],
    }
    if req.headers["X-Amz-Content-SHA256"] != out["payload_hash"]:
        raise SystemExit(f"{case['name']}: botocore did not sign the payload")
    return out


def main():
    doc = {"cases": [sign(c) for c in CASES]}
    text = json.dumps(doc, indent=1, ensure_ascii=True, sort_keys=True) + "\n"
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        with open(sys.argv[2], encoding="utf-8") as f:
            old = f.read()
        if old != text:
            sys.stderr.write(f"{sys.argv[2]} differs from what botocore "
                             f"{botocore.__version__} computes now; regenerate it\n")
            return 1
        print(f"{len(CASES)} vectors match botocore {botocore.__version__}")
        return 0
    if len(sys.argv) != 1:
        sys.stderr.write("usage: s3_sign_vectors.py [--check FILE]\n")
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
