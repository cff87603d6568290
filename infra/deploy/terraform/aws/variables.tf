variable "region" {
  description = "AWS region of the IVS channels, the recording bucket and the EventBridge rule (IVS records only to a bucket in the channel's region)."
  type        = string
  default     = "us-west-2"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "livepulse"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "channels" {
  description = "IVS channels to create, by key (the key becomes part of the channel name). creator_id tags the channel livepulse:creator_id: its streams become that creator's in Livepulse's stream registry; without it they are shown to admins only."
  type = map(object({
    type         = optional(string, "STANDARD")
    latency_mode = optional(string, "LOW")
    authorized   = optional(bool, false)
    creator_id   = optional(string)
  }))
  default = {
    main = {}
  }

  validation {
    condition     = alltrue([for c in values(var.channels) : contains(["STANDARD", "BASIC", "ADVANCED_SD", "ADVANCED_HD"], c.type) && contains(["LOW", "NORMAL"], c.latency_mode)])
    error_message = "Channel type must be STANDARD, BASIC, ADVANCED_SD or ADVANCED_HD, and latency_mode LOW or NORMAL."
  }
}

variable "bucket_name" {
  description = "Bucket for IVS recordings and Livepulse's objects (clips, clip jobs, reports). Set S3_BUCKET to it and leave S3_PREFIX empty: Livepulse reads recordings at IVS's own ivs/v1/... keys."
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects."
  type        = bool
  default     = false
}

variable "recording_reconnect_window_seconds" {
  description = "A broadcast that reconnects within this many seconds continues the same recording (0-300)."
  type        = number
  default     = 60

  validation {
    condition     = var.recording_reconnect_window_seconds >= 0 && var.recording_reconnect_window_seconds <= 300
    error_message = "recording_reconnect_window_seconds must be 0-300."
  }
}

variable "thumbnail_interval_seconds" {
  description = "Seconds between the recording's thumbnails (IVS default 60)."
  type        = number
  default     = 10
}

variable "recording_expiration_days" {
  description = "Days after which raw IVS recordings (ivs/ prefix: segments, playlists, thumbnails) are deleted. Clips made from them are kept."
  type        = number
  default     = 30
}

variable "intermediate_expiration_days" {
  description = "Days after which intermediates (tmp/) are deleted."
  type        = number
  default     = 1
}

variable "clip_job_expiration_days" {
  description = "Days after which an unfinished clip job record (clip-jobs/) is deleted; workers delete finished ones themselves."
  type        = number
  default     = 14
}

variable "collector_url" {
  description = "Public base URL of the Livepulse collector (ingest-api), e.g. https://livepulse.example.com. Events go to <collector_url>/v1/ivs/events."
  type        = string

  validation {
    condition     = can(regex("^https://[^/]+", var.collector_url))
    error_message = "collector_url must be an https:// URL (EventBridge API destinations require HTTPS)."
  }
}

variable "ivs_webhook_secret" {
  description = "The collector's LIVEPULSE_IVS_WEBHOOK_SECRET, sent in the x-livepulse-ivs-secret header (stored by EventBridge in Secrets Manager)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.ivs_webhook_secret) >= 16
    error_message = "ivs_webhook_secret must be at least 16 characters (the collector refuses shorter ones)."
  }
}

variable "invocation_rate_limit_per_second" {
  description = "Most IVS events per second EventBridge sends to the collector."
  type        = number
  default     = 20
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
