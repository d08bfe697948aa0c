"""Systems of record and outbound calls: signed webhooks (`webhooks`, `signature`), the SSRF
guard every outbound call goes through (`targets`), connectors to CRMs (`connectors`, `rest`,
`salesforce`), prefill from a record (`prefill`) and the `on completion` actions (`completion`)."""
