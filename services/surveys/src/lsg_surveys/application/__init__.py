"""Use cases of the surveys service, one module per capability.

Each write is one transaction of the shared unit of work (``lsg_shared.uow``): the rows through
``lsg_surveys.adapters.postgres`` on ``tx.conn`` and the events through ``tx.emit`` (the outbox), so a response
stored is an event published, whatever Kafka is doing. Failures a client caused are the exceptions of
``errors.py``; ``entrypoints/errors.py`` turns them into problem documents.
"""
