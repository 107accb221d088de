/* nftables through the nft program: a script on its standard input, in
 * one transaction (nft -f -), no shell in between.  The server's NAT
 * (nat.c) and the client's kill switch (killswitch.c) use it. */
#ifndef SSHTUN_NFT_H
#define SSHTUN_NFT_H

/* Runs script; 0 when nft exits 0, else -1 (errno ENOENT: no nft). */
int nft_run(const char *script);

#endif
