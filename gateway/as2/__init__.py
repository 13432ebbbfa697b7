"""AS2 (RFC 4130): the S/MIME layers of a message (`smime`, on `cms` and `mime`), MDNs
(`mdn`), partners and our identities (`partners`), errors with their MDN dispositions
(`errors`). No database, no network: the channel (`gateway.channels.as2`) does the I/O."""
