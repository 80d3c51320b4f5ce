#!/bin/bash
# bgpipe's resources for LocalStack (mount into /etc/localstack/init/ready.d). Safe to run again: it creates what
# is missing and sets the queues' attributes back when they drifted.
#
# GENERATED from src/Pipeline.Aws/Provisioning/ResourceList.cs; do not edit by hand. Regenerate with
#   bgpipe provision --print-init-script > infra-sam/localstack/init-aws.sh
# (tests/Pipeline.Aws.Tests/Provisioning/ResourceAgreementTests.cs fails while they differ).
# Function timeout 60 s, so the jobs queue's visibility timeout is 360 s.
set -euo pipefail

# JobsDeadLetterQueue: jobs that failed 5 receives.
dlq_url=$(awslocal sqs create-queue --queue-name jobs-dlq --query QueueUrl --output text)
awslocal sqs set-queue-attributes --queue-url "$dlq_url" --attributes '{"MessageRetentionPeriod":"1209600","SqsManagedSseEnabled":"true"}'
dlq_arn=$(awslocal sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)

# JobsQueue: where applications send jobs.
jobs_url=$(awslocal sqs create-queue --queue-name jobs --query QueueUrl --output text)
awslocal sqs set-queue-attributes --queue-url "$jobs_url" --attributes "$(printf '{"RedrivePolicy":"{\\"deadLetterTargetArn\\":\\"%s\\",\\"maxReceiveCount\\":5}","SqsManagedSseEnabled":"true","VisibilityTimeout":"360"}' "$dlq_arn")"

# IdempotencyTable: deduplication records.
if ! awslocal dynamodb describe-table --table-name idempotency >/dev/null 2>&1; then
  awslocal dynamodb create-table --table-name idempotency \
    --attribute-definitions AttributeName=id,AttributeType=S \
    --key-schema AttributeName=id,KeyType=HASH \
    --billing-mode PAY_PER_REQUEST --sse-specification Enabled=true >/dev/null
  awslocal dynamodb wait table-exists --table-name idempotency
fi
if [ "$(awslocal dynamodb describe-time-to-live --table-name idempotency --query TimeToLiveDescription.TimeToLiveStatus --output text)" != "ENABLED" ]; then
  awslocal dynamodb update-time-to-live --table-name idempotency --time-to-live-specification Enabled=true,AttributeName=expiration >/dev/null
fi
awslocal dynamodb update-continuous-backups --table-name idempotency --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null

echo "bgpipe: resources ready"
