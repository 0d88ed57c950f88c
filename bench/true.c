// SPDX-License-Identifier: Apache-2.0
/* The cheapest possible exec for the "exec floor" row of make bench: built static, does nothing. */
int main(void)
{
	return 0;
}
