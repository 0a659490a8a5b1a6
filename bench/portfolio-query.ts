/** The benchmark's query: a 50-holding portfolio with asset, latestPrice, change24h and similar(3). */
export const PORTFOLIO_QUERY = `query Portfolio($u: ID!) {
  portfolio(userId: $u) {
    totalValueUsd
    holdings {
      quantity valueUsd
      protocol { id name }
      asset { id symbol name chain latestPrice change24h similar(k: 3) { score asset { id symbol } } }
    }
  }
}`;
