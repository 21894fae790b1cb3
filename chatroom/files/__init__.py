"""Files shared in messages: their names made safe, images checked and re-encoded, uploads bounded.

The bytes live in the message store (the `files` table), whichever database it is: every process of a
deployment reads them, a message and its files are stored in one transaction (an upload cut off midway
stores nothing), and deleting a message deletes its files.
"""
