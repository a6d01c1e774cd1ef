"""The only SQL of FirstCall: one MetaData; cases, queue, directory, users, reports."""
