# `~=` is not in AWS's list of operators, yet queries in the wild (and the seed playbook) use it
# and Logs Insights runs them: spoor reads it as `=~`. A "string" matches as a substring, a
# /regex/ as a regular expression, for like, =~ and ~= alike.
# evidence: crates/cli/tests/fixtures/playbook/cloudwatch
fields log | filter kubernetes.container_name == "kubernetes-dashboard" and log ~= "Incoming HTTP" and log =~ /appdeploy\w+/
