# The bucket IVS records into and Livepulse keeps its objects in:
#   ivs/v1/<account>/<channel>/<y>/<m>/<d>/<h>/<min>/<recording>/…   IVS recordings (raw HLS segments)
#   clips/<clip_id>/…                                                  finished clips: kept
#   clip-jobs/<clip_id>.json                                           open clip jobs
#   tmp/…                                                              intermediates
resource "aws_s3_bucket" "media" {
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket                  = aws_s3_bucket.media.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# SSE-S3: IVS's recording role can write with it (a customer-managed KMS key would need a key policy for IVS).
resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    id     = "expire-intermediates"
    status = "Enabled"

    filter {
      prefix = "tmp/"
    }

    expiration {
      days = var.intermediate_expiration_days
    }
  }

  # Raw recordings are only needed until the clips are cut; the clips live under clips/.
  rule {
    id     = "expire-raw-recordings"
    status = "Enabled"

    filter {
      prefix = "ivs/"
    }

    expiration {
      days = var.recording_expiration_days
    }
  }

  rule {
    id     = "expire-abandoned-clip-jobs"
    status = "Enabled"

    filter {
      prefix = "clip-jobs/"
    }

    expiration {
      days = var.clip_job_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
