// placeholder until the L2Daemons sources land
