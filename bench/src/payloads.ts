/** The body of a charge: a fresh object per request, as an application would build it. */
export function chargeBody(index: number): { orderId: string; amount: number; currency: string } {
  return { orderId: `order-${index}`, amount: 1000 + (index % 97), currency: 'usd' };
}
