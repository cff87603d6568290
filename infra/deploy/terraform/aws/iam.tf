data "aws_caller_identity" "current" {}

# EventBridge assumes this role to invoke the API destination.
data "aws_iam_policy_document" "eventbridge_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "eventbridge" {
  name               = "${var.name}-eventbridge-collector"
  description        = "Lets EventBridge send IVS events to the Livepulse collector"
  assume_role_policy = data.aws_iam_policy_document.eventbridge_assume.json
}

data "aws_iam_policy_document" "eventbridge_invoke" {
  statement {
    actions   = ["events:InvokeApiDestination"]
    resources = ["${aws_cloudwatch_event_api_destination.collector.arn}*"]
  }
}

resource "aws_iam_role_policy" "eventbridge_invoke" {
  name   = "invoke-collector-api-destination"
  role   = aws_iam_role.eventbridge.id
  policy = data.aws_iam_policy_document.eventbridge_invoke.json
}

# What the Livepulse services need on AWS: the bucket (recordings, clips, jobs) and IVS timed
# metadata for clip markers (CLIP_PUT_METADATA). Attach it to the services' role (e.g. IRSA via
# the Helm chart's serviceAccount.annotations) or to a user whose keys go in the Secret.
data "aws_iam_policy_document" "services" {
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.media.arn]
  }

  statement {
    sid       = "Objects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.media.arn}/*"]
  }

  statement {
    sid       = "IvsChannels"
    actions   = ["ivs:PutMetadata", "ivs:GetStream", "ivs:GetChannel", "ivs:ListStreamSessions", "ivs:GetStreamSession"]
    resources = [for channel in aws_ivs_channel.this : channel.arn]
  }
}

resource "aws_iam_policy" "services" {
  name        = "${var.name}-services"
  description = "Livepulse services: media bucket and IVS timed metadata"
  policy      = data.aws_iam_policy_document.services.json
}
