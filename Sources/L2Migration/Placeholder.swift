// placeholder until the L2Migration sources land
