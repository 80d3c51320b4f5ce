#!/usr/bin/env python3
"""Expands a SAM template into plain CloudFormation with aws-sam-translator, offline, and prints it as JSON.

usage: expand_template.py TEMPLATE [Name=Value ...]

Parameter values given on the command line replace the defaults (SAM resolves !Ref of parameters in some properties,
e.g. DeploymentPreference.Type). Exit codes: 0 expanded; 2 bad arguments; 3 aws-sam-translator is not installed;
4 the template is invalid (the messages go to stderr).
"""
import json
import os
import sys

# The translator fills AWS::Region from boto; offline there is none, and any region expands the same here.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

try:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError as error:  # the test skips on exit code 3 and says why
    print(f"aws-sam-translator is not installed: {error} (pip install aws-sam-translator)", file=sys.stderr)
    sys.exit(3)


class _OfflineManagedPolicies:
    """SAM asks IAM for managed policy ARNs by name; offline, build them from the name (enough for assertions)."""

    def load(self):
        return {}

    def get(self, name):
        return f"arn:aws:iam::aws:policy/service-role/{name}" if name.startswith("AWSLambda") else f"arn:aws:iam::aws:policy/{name}"


_LOCAL_CODE = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def _as_packaged(template):
    """Local code paths become S3 URIs, as `sam package` would make them (the translator accepts only those)."""
    for resource in template.get("Resources", {}).values():
        key = _LOCAL_CODE.get(resource.get("Type"))
        properties = resource.get("Properties", {})
        value = properties.get(key) if key else None
        if isinstance(value, str) and not value.startswith("s3://"):
            properties[key] = f"s3://bgpipe-packaged/{value.strip('/') or 'root'}.zip"


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    parameters = {}
    for item in argv[2:]:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"expected Name=Value, got '{item}'", file=sys.stderr)
            return 2
        if name not in template.get("Parameters", {}):
            print(f"the template has no parameter '{name}'", file=sys.stderr)
            return 2
        parameters[name] = value
    _as_packaged(template)
    try:
        expanded = transform(template, parameters, _OfflineManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(cause.message, file=sys.stderr)
        return 4
    json.dump(expanded, sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
