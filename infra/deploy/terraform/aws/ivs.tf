# IVS records every broadcast of these channels to the bucket, in its own layout under ivs/v1/
# (the layout core/ivs/recording-layout.ts reads).
resource "aws_ivs_recording_configuration" "this" {
  name                               = "${var.name}-recording"
  recording_reconnect_window_seconds = var.recording_reconnect_window_seconds

  destination_configuration {
    s3 {
      bucket_name = aws_s3_bucket.media.id
    }
  }

  thumbnail_configuration {
    recording_mode          = "INTERVAL"
    target_interval_seconds = var.thumbnail_interval_seconds
  }

  # IVS checks that it can write to the bucket when the configuration is created.
  depends_on = [
    aws_s3_bucket_public_access_block.media,
    aws_s3_bucket_ownership_controls.media,
    aws_s3_bucket_server_side_encryption_configuration.media,
  ]
}

resource "aws_ivs_channel" "this" {
  for_each = var.channels

  name                        = "${var.name}-${each.key}"
  type                        = each.value.type
  latency_mode                = each.value.latency_mode
  authorized                  = each.value.authorized
  recording_configuration_arn = aws_ivs_recording_configuration.this.arn
  # Who owns the channel's streams (core/streams/ivs-stream-owners.ts reads it at each Stream Start).
  tags = { for key, value in { "livepulse:creator_id" = each.value.creator_id } : key => value if value != null }
}

# Each channel's default stream key (for the broadcaster's encoder).
data "aws_ivs_stream_key" "this" {
  for_each = aws_ivs_channel.this

  channel_arn = each.value.arn
}
