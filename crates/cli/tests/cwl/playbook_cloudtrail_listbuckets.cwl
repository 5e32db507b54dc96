# The playbook's CloudTrail hunts in Logs Insights ("View ListBuckets Activity"): a dotted path
# into the event, sort on a field that is not shown, filter after sort.
fields eventID, eventName, eventTime, userIdentity.sessionContext.sessionIssuer.userName as userName | sort @timestamp desc | filter eventName = "ListBuckets"
