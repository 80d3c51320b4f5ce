#!/bin/bash
# bgpipe's resources for LocalStack (mount into /etc/localstack/init/ready.d). Safe to run again: it creates what
# is missing and sets the queues' attributes back when they drifted.
#
# GENERATED from src/Pipeline.Aws/Provisioning/ResourceList.cs; do not edit by hand. Regenerate with
#   bgpipe provision --shards 1 --print-init-script > infra-sam/localstack/init-aws.sh
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
    --attribute-definitions AttributeName=id,AttributeType=S AttributeName=job_key,AttributeType=S \
    --key-schema AttributeName=id,KeyType=HASH \
    --global-secondary-indexes 'IndexName=job_key-index,KeySchema=[{AttributeName=job_key,KeyType=HASH}],Projection={ProjectionType=ALL}' \
    --billing-mode PAY_PER_REQUEST --sse-specification Enabled=true >/dev/null
  awslocal dynamodb wait table-exists --table-name idempotency
elif ! awslocal dynamodb describe-table --table-name idempotency --query 'Table.GlobalSecondaryIndexes[].IndexName' --output text | grep -qw -- 'job_key-index'; then
  awslocal dynamodb update-table --table-name idempotency --attribute-definitions AttributeName=job_key,AttributeType=S \
    --global-secondary-index-updates '[{"Create":{"IndexName":"job_key-index","KeySchema":[{"AttributeName":"job_key","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}}]' >/dev/null
fi
if [ "$(awslocal dynamodb describe-time-to-live --table-name idempotency --query TimeToLiveDescription.TimeToLiveStatus --output text)" != "ENABLED" ]; then
  awslocal dynamodb update-time-to-live --table-name idempotency --time-to-live-specification Enabled=true,AttributeName=expiration >/dev/null
fi
awslocal dynamodb update-continuous-backups --table-name idempotency --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null

# JobsStream: jobs in order per partition key (1 shard; a rerun never reshards).
if ! awslocal kinesis describe-stream-summary --stream-name jobs-stream >/dev/null 2>&1; then
  awslocal kinesis create-stream --stream-name jobs-stream --shard-count 1
  awslocal kinesis wait stream-exists --stream-name jobs-stream
fi

# JobsStreamFailuresQueue: records of batches the stream mapping discarded.
failures_url=$(awslocal sqs create-queue --queue-name jobs-stream-failures --query QueueUrl --output text)
awslocal sqs set-queue-attributes --queue-url "$failures_url" --attributes '{"MessageRetentionPeriod":"1209600","SqsManagedSseEnabled":"true"}'

# KinesisLeaseTable: which host reads which shard, and its checkpoint.
if ! awslocal dynamodb describe-table --table-name kinesis-leases >/dev/null 2>&1; then
  awslocal dynamodb create-table --table-name kinesis-leases \
    --attribute-definitions AttributeName=leaseKey,AttributeType=S \
    --key-schema AttributeName=leaseKey,KeyType=HASH \
    --billing-mode PAY_PER_REQUEST --sse-specification Enabled=true >/dev/null
  awslocal dynamodb wait table-exists --table-name kinesis-leases
fi

echo "bgpipe: resources ready"
