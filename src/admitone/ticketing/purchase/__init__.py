"""The purchase pipeline: every purchase, alone or in a group commit, takes the same steps.

1. ``reserve``: a batch of requests is checked, written as ``pending`` orders and takes its
   capacity with one conditional UPDATE per counter (a purchase alone is a batch of one);
2. ``pay``: the gateway is asked, with no transaction open (rule 4);
3. ``settle``: the gateway's answer is applied to a batch of orders (paid, left pending for
   another card, or compensated), and ``confirm`` issues the tickets and the confirmation;

``flow`` runs these steps for one purchase, each in its own short transaction; ``batching``
runs them for the purchases in flight together, and hands back to ``flow`` what a batch cannot
do for everyone.
"""
