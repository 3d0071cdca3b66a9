"""What the tests ask of the S3 server, asked from inside its container with boto3 (moto's own
dependency), over the same TLS as pgBackRest: create-bucket NAME | keys BUCKET PREFIX | get
BUCKET KEY (the object's bytes on stdout)."""

import sys

import boto3

client = boto3.client(
    "s3",
    endpoint_url="https://localhost:9000",
    region_name="us-east-1",
    verify="/certs/ca.crt",
    # moto accepts any credentials; boto3 signs with them.
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
command, bucket, *rest = sys.argv[1:]
if command == "create-bucket":
    client.create_bucket(Bucket=bucket)
elif command == "keys":
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=rest[0]):
        for item in page.get("Contents", []):
            print(item["Key"])
elif command == "get":
    sys.stdout.buffer.write(client.get_object(Bucket=bucket, Key=rest[0])["Body"].read())
else:
    sys.exit(f"s3_client: unknown command {command!r}")
