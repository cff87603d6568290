# IVS stream and recording state changes → EventBridge → the Livepulse collector's
# POST /v1/ivs/events, authenticated by the x-livepulse-ivs-secret header (ingest-api/ivs/).
# EventBridge delivery is at-least-once and unordered; the collector deduplicates by event id.

locals {
  collector_endpoint = "${trimsuffix(var.collector_url, "/")}/v1/ivs/events"
  # The header the collector checks (IVS_SECRET_HEADER in ingest-api/ivs/ivs-route.ts).
  ivs_secret_header = "x-livepulse-ivs-secret"
}

resource "aws_cloudwatch_event_rule" "ivs_state" {
  name        = "${var.name}-ivs-state-changes"
  description = "IVS Stream State Change and IVS Recording State Change of the Livepulse channels"

  event_pattern = jsonencode({
    source        = ["aws.ivs"]
    "detail-type" = ["IVS Stream State Change", "IVS Recording State Change"]
    resources     = [for channel in aws_ivs_channel.this : channel.arn]
  })
}

# An API_KEY connection sends one header with every request; EventBridge keeps its value in
# Secrets Manager.
resource "aws_cloudwatch_event_connection" "collector" {
  name               = "${var.name}-collector"
  description        = "Livepulse collector (ingest-api) shared secret"
  authorization_type = "API_KEY"

  auth_parameters {
    api_key {
      key   = local.ivs_secret_header
      value = var.ivs_webhook_secret
    }
  }
}

resource "aws_cloudwatch_event_api_destination" "collector" {
  name                             = "${var.name}-collector-ivs-events"
  description                      = "POST IVS events to the Livepulse collector"
  invocation_endpoint              = local.collector_endpoint
  http_method                      = "POST"
  invocation_rate_limit_per_second = var.invocation_rate_limit_per_second
  connection_arn                   = aws_cloudwatch_event_connection.collector.arn
}

resource "aws_cloudwatch_event_target" "collector" {
  rule      = aws_cloudwatch_event_rule.ivs_state.name
  target_id = "livepulse-collector"
  arn       = aws_cloudwatch_event_api_destination.collector.arn
  role_arn  = aws_iam_role.eventbridge.arn

  # The collector answers 503 while Kafka is unavailable: EventBridge retries for up to a day,
  # then parks the event in the dead-letter queue (replay it with scripts of your own, or
  # re-drive; see docs/operations.md).
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.ivs_events_dlq.arn
  }
}

resource "aws_sqs_queue" "ivs_events_dlq" {
  name                      = "${var.name}-ivs-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "ivs_events_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ivs_events_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.ivs_state.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "ivs_events_dlq" {
  queue_url = aws_sqs_queue.ivs_events_dlq.id
  policy    = data.aws_iam_policy_document.ivs_events_dlq.json
}
