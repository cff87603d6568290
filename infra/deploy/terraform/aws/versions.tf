terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Checked against the 6.25.0 schema (infra/deploy/tools/check-terraform.ts).
      version = "~> 6.25"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ "app" = "livepulse" }, var.tags)
  }
}
