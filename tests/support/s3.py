"""An S3 API on 127.0.0.1: moto's server mode, from the locked PyPI package."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from tenantry_local.cluster import free_port, stop_pids, wait_http

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "tenantry-test",
    "AWS_SECRET_ACCESS_KEY": "tenantry-test-secret",
}
"""What the credentials Secret would put into the pods' environment."""
REGION = "us-east-1"


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """Run moto's S3 server on a free loopback port; yields its endpoint URL."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_http(f"{endpoint}/moto-api/", 60)
        yield endpoint
    finally:
        stop_pids({"moto": proc.pid}, grace=5)


def client(endpoint: str) -> "S3Client":
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
