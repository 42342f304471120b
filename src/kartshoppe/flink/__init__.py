"""The Apache Flink runner: the processors, the Kafka topics and the Paimon store on PyFlink.

`launcher` (stdlib only, runs in the main venv) installs PyFlink into its own venv and starts
`job` there; `job` is the PyFlink program; `keyed` and `sql` are its engine-free parts.
"""
