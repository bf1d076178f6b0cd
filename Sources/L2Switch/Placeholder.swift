// placeholder until the L2Switch sources land
