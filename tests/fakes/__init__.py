"""Scripted fake servers and a TCP proxy for what a real Dovecot cannot do on demand:
odd POP3 replies, servers without UIDL/CAPA/STLS, a refused STARTTLS, stripped
capabilities and connections cut mid-reply."""
