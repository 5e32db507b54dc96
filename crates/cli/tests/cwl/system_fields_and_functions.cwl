# System fields, string and time functions, arithmetic over text read as numbers.
# log-group: cloudtrail
filter ispresent(errorCode) or eventName like /^Delete/
| fields @timestamp, bin(1h) as hour, toupper(eventName) as name, strlen(eventName) * 2 as twice,
    concat(awsRegion, "/", eventSource) as where, isempty(errorCode) as ok
| sort @timestamp asc
| display hour, name, twice, where, ok
