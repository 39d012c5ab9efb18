#!/usr/bin/env python3
"""Create a bucket on an S3 endpoint and upload a local directory's files under a prefix.

    python tests/servers/s3put.py ENDPOINT BUCKET PREFIX DIR

Credentials and region from the AWS_* environment variables (any values do for moto). Keys are
PREFIX/<path of the file under DIR>; an empty PREFIX puts them at the bucket's root. Large
files go up in multipart uploads (boto3's default above 8 MiB), as real checkpoints do.
"""

import os
import sys

import boto3
from botocore.config import Config


def main():
    endpoint, bucket, prefix, root = sys.argv[1:5]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    prefix = prefix.strip("/")
    n = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            key = prefix + "/" + rel if prefix else rel
            s3.upload_file(full, bucket, key)
            n += 1
    print("uploaded %d" % n)


if __name__ == "__main__":
    main()
