#include <regship.h>
int main(void){return 0;}
