"""Publishing: one post to one account, never lost, never twice (DESIGN section 5). Read it in order:

due       scheduling.py  a target gets its publish job only once it is due (one account's
                         jobs share a Procrastinate lock); queueing.py writes the jobs of
                         targets that come due, sweep.py re-queues any due target left without
                         a live job; overdue.py says which are late and why.
queued    tasks.py       the Procrastinate task, its retry strategy (RetryLater's own wait).
drained   drain.py       the job holding the account's lock takes over the account's due jobs
                         and publishes them one after another, giving back what it cannot do.
claimed   attempt.py     the attempt recorded and committed before the call (the one-statement
                         claim, else the ORM claim); snapshot.py is what every step reads.
sent      attempt.py     the call (token refreshed once), the network's ids stored at once;
          reconcile.py   an earlier attempt whose outcome is unknown is looked up first.
outcome   outcome.py     one writer per outcome (published; failed, unknown or wait again).
told      notices.py     the live events and the author's notices and emails.
SQL       queries.py     every raw statement of the feature, named.
"""
