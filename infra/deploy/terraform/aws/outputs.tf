output "channels" {
  description = "Per channel: ARN, RTMPS ingest endpoint and playback URL."
  value = {
    for key, channel in aws_ivs_channel.this : key => {
      arn             = channel.arn
      ingest_endpoint = "rtmps://${channel.ingest_endpoint}:443/app/"
      playback_url    = channel.playback_url
    }
  }
}

output "stream_keys" {
  description = "Per channel: the stream key for the broadcaster's encoder."
  value       = { for key, stream_key in data.aws_ivs_stream_key.this : key => stream_key.value }
  sensitive   = true
}

output "bucket" {
  description = "The recordings and media bucket (Livepulse's S3_BUCKET)."
  value       = aws_s3_bucket.media.id
}

output "recording_configuration_arn" {
  description = "The IVS recording configuration."
  value       = aws_ivs_recording_configuration.this.arn
}

output "event_rule_arn" {
  description = "The EventBridge rule matching the channels' IVS state changes."
  value       = aws_cloudwatch_event_rule.ivs_state.arn
}

output "api_destination_arn" {
  description = "The API destination posting to the collector."
  value       = aws_cloudwatch_event_api_destination.collector.arn
}

output "ivs_events_dead_letter_queue_url" {
  description = "Where IVS events go that the collector did not accept within a day."
  value       = aws_sqs_queue.ivs_events_dlq.id
}

output "services_policy_arn" {
  description = "IAM policy to attach to the Livepulse services' role."
  value       = aws_iam_policy.services.arn
}

output "livepulse_env" {
  description = "Environment for the Livepulse services that follows from this stack."
  value = {
    S3_BUCKET  = aws_s3_bucket.media.id
    S3_REGION  = var.region
    IVS_REGION = var.region
  }
}
