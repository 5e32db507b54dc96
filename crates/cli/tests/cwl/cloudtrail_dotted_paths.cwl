# CloudTrail events: a dotted path into userIdentity, a field named in fields but sorted on
# another one, filter after sort.
# log-group: cloudtrail
fields eventName, userIdentity.type as identity, userIdentity.arn as arn | sort @timestamp asc | filter identity = "IAMUser"
